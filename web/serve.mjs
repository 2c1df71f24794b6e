// Serves web/dist/ on 127.0.0.1 only (never another interface): a static file server with the
// MIME types the page needs (application/wasm for streaming compilation).
//
//   node web/serve.mjs [--port 8737]      (port 0 picks a free one)
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Starts serving `dir` on 127.0.0.1:`port`; resolves to {server, url}. */
export function serve(dir, port = 8737) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
    const file = normalize(join(dir, path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(normalize(dir) + sep)) {
      res.writeHead(403).end("forbidden");
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--port");
  const port = i > 0 ? Number(process.argv[i + 1]) : 8737;
  const dist = join(dirname(fileURLToPath(import.meta.url)), "dist");
  serve(dist, port)
    .then(({ url }) => console.log(`mxsim visualizer: ${url}  (Ctrl-C stops it)`))
    .catch((e) => {
      console.error(`serve-web: cannot listen on 127.0.0.1:${port}: ${e.message}`);
      process.exit(2);
    });
}
