# Sourced by the other scripts (and usable from a shell: `. scripts/env.sh`):
# sets ROOT to the repo root and puts cargo-installed tools and the project's
# npm tools (wasm-opt from binaryen, playwright-core) on PATH.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case ":$PATH:" in
  *":$ROOT/node_modules/.bin:"*) ;;
  *) PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH" ;;
esac
# trunk would otherwise ask crates.io for a newer trunk on every run.
export ROOT PATH TRUNK_SKIP_VERSION_CHECK=true
