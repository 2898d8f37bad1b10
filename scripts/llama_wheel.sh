#!/usr/bin/env bash
# Install into .venv a llama-cpp-python that runs on any CPU of this architecture, not only the one it was
# built on. llama-cpp-python builds llama.cpp with GGML_NATIVE=ON by default: on a CPU with AMX the wheel
# then uses AMX tiles, and that code faults on other machines (and on some with AMX too). pip's wheel cache
# is keyed by version, not by CMAKE_ARGS, so a native wheel built earlier would be reused: this script builds
# with fixed flags into its own cache, named after the version and the flags, and installs from there.
# Run by scripts/bootstrap.sh for the `local` extra; the first build takes 4-12 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/.*"llama-cpp-python\[server\]==\([0-9][0-9.]*\)".*/\1/p' pyproject.toml)
[ -n "$version" ] || { echo "pyproject.toml pins no llama-cpp-python[server]==VERSION" >&2; exit 1; }
case "$(uname -m)" in
  x86_64|amd64)  # x86-64-v3: AVX2, FMA, F16C (every x86 server and laptop CPU since about 2015); no AVX-512, no AMX
    flags="-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF -DGGML_AVX=ON -DGGML_AVX2=ON"
    flags="$flags -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF"
    flags="$flags -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    name=x86_64-avx2-fma-f16c ;;
  *)
    flags="-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF"
    name="$(uname -m)-generic" ;;
esac
root=${TURNOUT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/turnout/wheels}
cache="$root/llama-cpp-python-$version-$name-$(printf %s "$flags" | sha256sum | cut -c1-8)"

if ! ls "$cache"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $version for any $name CPU (once; cached in $cache)" >&2
  mkdir -p "$root"
  scratch=$(mktemp -d "$root/.build.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  CMAKE_ARGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" .venv/bin/python -m pip wheel --quiet \
    --disable-pip-version-check --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$scratch" "llama-cpp-python==$version"
  printf '%s\n' "$flags" >"$scratch/CMAKE_ARGS"
  rm -rf "$cache" && mv "$scratch" "$cache"  # appears whole or not at all
fi
wheel=$(ls "$cache"/llama_cpp_python-"$version"-*.whl | head -n 1)

# Whatever else is installed (a native build from pip's cache, an older version) is replaced.
if ! .venv/bin/python - "$wheel" <<'PY'
import json, pathlib, sys
from importlib.metadata import PackageNotFoundError, distribution
try:
    url = json.loads(distribution("llama_cpp_python").read_text("direct_url.json") or "{}").get("url")
except PackageNotFoundError:
    sys.exit(1)
sys.exit(url != pathlib.Path(sys.argv[1]).resolve().as_uri())
PY
then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
fi

# The check the build exists for: no AMX tile instruction in the CPU backend that is installed now.
lib=$(.venv/bin/python -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llama_cpp").origin).parent / "lib")')
for so in "$lib"/libggml-cpu*.so; do
  if objdump -d "$so" | grep -q ldtilecfg; then
    echo "$so uses AMX instructions (ldtilecfg) although it was built without them; remove $cache and run again" >&2
    exit 1
  fi
done
echo "llama-cpp-python $version: portable build for $name ($wheel)" >&2
