// Local stand-ins for the two base images the Dockerfile names, which no
// registry reachable from these machines serves. `podman build
// --build-context <FROM reference>=container-image://<stand-in>` puts them
// in place of the FROM images, so the Dockerfile itself is built unchanged.
// Each is assembled from files and imported with `podman import`, once per
// machine (reused while its recipe label matches).
//
// How they differ from the real images:
//  - oven/bun:<version>-debian: a Debian 12 minbase root (debootstrap) plus
//    the pinned Bun from npm (the Bun running this test, same version as the
//    tag) as /usr/local/bin/bun and bunx. The real image is Debian 12 slim
//    with the same Bun, an entrypoint script and a `bun` user. The stand-in
//    also trusts this machine's CA bundle (and sets NODE_EXTRA_CA_CERTS when
//    this machine does), so `bun install` reaches the npm registry the way the
//    machine itself does.
//  - gcr.io/distroless/cc-debian12:nonroot: the library files of Debian 12's
//    libc6, libgcc-s1, libstdc++6, libssl3 and libgomp1 as installed on this
//    (Debian 12) machine, its CA bundle, /etc/passwd and /etc/group with root,
//    nobody and nonroot (65532), /etc/nsswitch.conf, /home/nonroot (65532,
//    0700), /tmp (1777); USER 65532, WORKDIR /home/nonroot, PATH and
//    SSL_CERT_FILE as distroless sets them. The real image also carries
//    tzdata, netbase, base-files (os-release), the packages' copyright files
//    and dpkg status.d entries; like it, the stand-in has no shell, no package
//    manager and no programs at all.
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NONROOT_UID } from "../chroot";
import type { Podman } from "./podman";

const RECIPE = "2"; // bump when a stand-in's recipe changes
const LABEL = "io.skyclust.test.standin";
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const DISTROLESS_CC_PACKAGES = ["libc6", "libgcc-s1", "libstdc++6", "libssl3", "libgomp1"];
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function sh(cmd: string[], opts: { cwd?: string } = {}): string {
  const r = Bun.spawnSync(cmd, { cwd: opts.cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().slice(-2000)}`);
  return r.stdout.toString();
}

function recipeKey(...parts: string[]): string {
  const h = createHash("sha256").update(RECIPE);
  for (const p of parts) h.update("\0" + p);
  return h.digest("hex").slice(0, 16);
}

/** Imports `root` as `ref` with Dockerfile-style changes; the recipe key goes in a label. */
function importRoot(podman: Podman, root: string, ref: string, key: string, changes: string[]): void {
  const tar = Bun.spawnSync(["tar", "-C", root, "--numeric-owner", "-cf", "-", "."], { stdout: "pipe", stderr: "pipe", maxBuffer: 2 ** 31 });
  if (tar.exitCode !== 0) throw new Error(`tar of ${root} failed: ${tar.stderr.toString()}`);
  const args = ["import"];
  for (const c of [...changes, `LABEL ${LABEL}=${key}`]) args.push("--change", c);
  podman.run([...args, "-", ref], { stdin: tar.stdout });
}

function current(podman: Podman, ref: string, key: string): boolean {
  if (!podman.imageExists(ref)) return false;
  return podman.run(["image", "inspect", "--format", `{{index .Labels "${LABEL}"}}`, ref]).stdout.trim() === key;
}

function hostIsDebian12(): void {
  const osRelease = readFileSync("/etc/os-release", "utf8");
  if (!/^ID=debian$/m.test(osRelease) || !/^VERSION_ID="?12"?$/m.test(osRelease)) {
    throw new Error("the distroless cc-debian12 stand-in is assembled from this machine's Debian 12 packages; this machine is not Debian 12");
  }
}

/** The stand-in for `oven/bun:<version>-debian`; returns its local reference. */
export function bunBuildImage(podman: Podman, fromRef: string): string {
  const m = /^oven\/bun:([\d.]+)-debian$/.exec(fromRef);
  if (!m) throw new Error(`the build stage's base ${fromRef} is not oven/bun:<version>-debian: the stand-in does not fit it`);
  if (m[1] !== Bun.version) throw new Error(`the Dockerfile builds with Bun ${m[1]} but the pinned Bun running this test is ${Bun.version}`);
  const ref = `localhost/skyclust-standin/oven-bun:${m[1]}-debian`;
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  const key = recipeKey(Bun.version, String(statSync(process.execPath).size), existsSync(CA_BUNDLE) ? readFileSync(CA_BUNDLE, "utf8") : "", extraCa ?? "");
  if (current(podman, ref, key)) return ref;

  const root = mkdtempSync("/tmp/skyclust-standin-bun-");
  try {
    const debootstrap = Bun.which("debootstrap") ?? "/usr/sbin/debootstrap";
    sh([debootstrap, "--variant=minbase", "bookworm", root]);
    rmSync(join(root, "var/cache/apt/archives"), { recursive: true, force: true });
    mkdirSync(join(root, "var/cache/apt/archives/partial"), { recursive: true });
    copyFileSync(process.execPath, join(root, "usr/local/bin/bun"));
    chmodSync(join(root, "usr/local/bin/bun"), 0o755);
    symlinkSync("bun", join(root, "usr/local/bin/bunx"));
    mkdirSync(join(root, "etc/ssl/certs"), { recursive: true });
    if (existsSync(CA_BUNDLE)) copyFileSync(CA_BUNDLE, join(root, "etc/ssl/certs/ca-certificates.crt"));
    const changes = [`ENV ${PATH_ENV}`, "WORKDIR /home/bun/app", 'CMD ["/usr/local/bin/bun"]'];
    if (extraCa) changes.push("ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt");
    importRoot(podman, root, ref, key, changes);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return ref;
}

/** The stand-in for `gcr.io/distroless/cc-debian12:nonroot@sha256:...`; returns its local reference. */
export function distrolessCcImage(podman: Podman, fromRef: string): string {
  if (!/^gcr\.io\/distroless\/cc-debian12:nonroot@sha256:[0-9a-f]{64}$/.test(fromRef)) {
    throw new Error(`the runtime base ${fromRef} is not distroless cc-debian12:nonroot pinned by digest: the stand-in does not fit it`);
  }
  hostIsDebian12();
  const ref = "localhost/skyclust-standin/distroless-cc-debian12:nonroot";
  const packages = DISTROLESS_CC_PACKAGES.filter((p) => Bun.spawnSync(["dpkg", "-s", p], { stdout: "ignore", stderr: "ignore" }).exitCode === 0);
  const files = packages
    .flatMap((p) => sh(["dpkg", "-L", p]).split("\n"))
    .filter((f) => /^(\/usr)?\/lib(64)?\//.test(f))
    .filter((f) => {
      try {
        return !lstatSync(f).isDirectory();
      } catch {
        return false;
      }
    });
  const key = recipeKey(packages.map((p) => sh(["dpkg-query", "-W", "-f", "${Package}=${Version}", p])).join(","), existsSync(CA_BUNDLE) ? readFileSync(CA_BUNDLE, "utf8") : "");
  if (current(podman, ref, key)) return ref;

  const root = mkdtempSync("/tmp/skyclust-standin-cc-");
  try {
    chmodSync(root, 0o755);
    // tar keeps symlinks (libfoo.so.N -> libfoo.so.N.M) as they are.
    const list = join(root, ".files");
    writeFileSync(list, files.map((f) => f.slice(1)).join("\n") + "\n");
    const tar = Bun.spawnSync(["tar", "-C", "/", "-cf", "-", "--no-recursion", "-T", list], { stdout: "pipe", stderr: "pipe", maxBuffer: 2 ** 30 });
    if (tar.exitCode !== 0) throw new Error(`tar of the library files failed: ${tar.stderr.toString()}`);
    const untar = Bun.spawnSync(["tar", "-C", root, "-xf", "-"], { stdin: tar.stdout, stderr: "pipe" });
    if (untar.exitCode !== 0) throw new Error(`untar failed: ${untar.stderr.toString()}`);
    rmSync(list);
    for (const d of ["etc/ssl/certs", "tmp", "home/nonroot", "root"]) mkdirSync(join(root, d), { recursive: true });
    if (existsSync(CA_BUNDLE)) copyFileSync(CA_BUNDLE, join(root, "etc/ssl/certs/ca-certificates.crt"));
    writeFileSync(
      join(root, "etc/passwd"),
      `root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
    );
    writeFileSync(join(root, "etc/group"), `root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:${NONROOT_UID}:\n`);
    writeFileSync(join(root, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
    chmodSync(join(root, "tmp"), 0o1777);
    chmodSync(join(root, "root"), 0o700);
    chmodSync(join(root, "home/nonroot"), 0o700);
    sh(["chown", `${NONROOT_UID}:${NONROOT_UID}`, join(root, "home/nonroot")]);
    if (process.arch === "x64" && !existsSync(join(root, "lib64/ld-linux-x86-64.so.2"))) throw new Error("the stand-in has no dynamic loader");
    importRoot(podman, root, ref, key, [`USER ${NONROOT_UID}`, "WORKDIR /home/nonroot", `ENV ${PATH_ENV}`, "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return ref;
}
