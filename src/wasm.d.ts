/** A `.wasm` file imported by the Worker: wrangler bundles it as a precompiled module (CompiledWasm). */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
