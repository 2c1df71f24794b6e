// The page's state in its URL, so a link reproduces the same view: the scenario text
// (deflate-compressed, base64url), the bundled scenario's file name when unedited, the seed,
// the two policies and the simulated time. Read back as data only; never parsed as HTML.

function b64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
const unb64url = (text) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** Compresses text for a URL (deflate-raw + base64url). */
export async function pack(text) {
  const bytes = await pipe(new TextEncoder().encode(text), new CompressionStream("deflate-raw"));
  return b64url(bytes);
}

/** The text `pack` compressed; throws on a damaged value. */
export async function unpack(value) {
  const bytes = await pipe(unb64url(value), new DecompressionStream("deflate-raw"));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/** The URL hash for `state` = {file, text (when edited), seed, a, b, t}. */
export async function encode(state) {
  const p = new URLSearchParams();
  if (state.text !== null && state.text !== undefined) p.set("s", await pack(state.text));
  else p.set("f", state.file);
  if (state.seed !== null && state.seed !== undefined) p.set("seed", String(state.seed));
  if (state.a) p.set("a", state.a);
  if (state.b) p.set("b", state.b);
  if (state.t) p.set("t", String(Math.round(state.t)));
  return "#" + p.toString();
}

/** The state in a URL hash, or null when it holds none; throws with a message when damaged. */
export async function decode(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  if (!p.has("s") && !p.has("f")) return null;
  const seed = p.get("seed");
  if (seed !== null && !/^\d{1,19}$/.test(seed)) throw new Error(`the link's seed "${seed}" is not a whole number`);
  const t = Number(p.get("t") ?? 0);
  return {
    file: p.get("f"),
    text: p.has("s") ? await unpack(p.get("s")) : null,
    seed,
    a: p.get("a") ?? "scenario",
    b: p.get("b") ?? "",
    t: Number.isFinite(t) && t >= 0 ? t : 0,
  };
}
