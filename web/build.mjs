// Builds the visualizer into web/dist/: plain static files (index.html, app.js, app.css,
// worker.js, mxsim_wasm_bg.wasm). Needs web/pkg/ from scripts/build-wasm and `npm ci` in web/.
// Works offline: esbuild and uPlot come from node_modules; every bundled scenario of
// scenarios/ is embedded with the "what is happening here" text taken from its header comment.
//
//   node web/build.mjs            (scripts/build-web runs it after scripts/build-wasm)
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(fileURLToPath(import.meta.url));
const root = join(web, "..");
const dist = join(web, "dist");

/** A scenario file's header comment: its first line is the title, the rest the explanation. */
export function describe(text) {
  const lines = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("#")) break;
    lines.push(line.replace(/^# ?/, ""));
  }
  const title = (lines.shift() ?? "").trim();
  const about = lines.join("\n").trim().split(/\n\s*\n/).map((p) => p.replace(/\s*\n\s*/g, " ").trim());
  return { title, about };
}

/** Every scenario of scenarios/, in name order, as {file, title, about, text}. */
export function bundledScenarios() {
  const dir = join(root, "scenarios");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".toml"))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), "utf8");
      return { file: `scenarios/${f}`, ...describe(text), text };
    });
}

// `import scenarios from "virtual:scenarios"` in the page's code.
const scenariosPlugin = {
  name: "scenarios",
  setup(build) {
    build.onResolve({ filter: /^virtual:scenarios$/ }, () => ({ path: "scenarios", namespace: "virtual" }));
    build.onLoad({ filter: /.*/, namespace: "virtual" }, () => ({
      contents: `export default ${JSON.stringify(bundledScenarios())};`,
      loader: "js",
    }));
  },
};

export async function build() {
  const pkg = join(web, "pkg");
  try {
    statSync(join(pkg, "mxsim_wasm_bg.wasm"));
  } catch {
    throw new Error("web/pkg/ is missing: run scripts/build-wasm first (scripts/build-web does)");
  }
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const common = { bundle: true, minify: true, format: "esm", target: "es2022", logLevel: "warning", legalComments: "none" };
  await esbuild.build({
    ...common,
    entryPoints: { app: join(web, "src/main.js") },
    outdir: dist,
    plugins: [scenariosPlugin],
  });
  await esbuild.build({ ...common, entryPoints: { worker: join(web, "src/worker.js") }, outdir: dist });
  copyFileSync(join(pkg, "mxsim_wasm_bg.wasm"), join(dist, "mxsim_wasm_bg.wasm"));
  copyFileSync(join(web, "index.html"), join(dist, "index.html"));
  const files = readdirSync(dist).map((f) => [f, statSync(join(dist, f)).size]);
  const total = files.reduce((s, [, n]) => s + n, 0);
  writeFileSync(join(dist, "sizes.json"), JSON.stringify({ files: Object.fromEntries(files), total }, null, 1));
  for (const [f, n] of files) console.log(`  ${f.padEnd(22)} ${String(n).padStart(9)} bytes`);
  console.log(`web/dist: ${total} bytes in ${files.length} files`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  build().catch((e) => {
    console.error(`build failed: ${e.message}`);
    process.exit(1);
  });
}
