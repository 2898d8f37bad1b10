# Turnout's GPU worker: vLLM's own image plus Turnout's core (evals + jobs + storage), no web stack.
# Build from the repository root:  docker build -f deploy/gpu.Dockerfile -t turnout-gpu:0.1.0 .
#
# vLLM pins torch and fastapi exactly (0.33: torch==2.14.0, fastapi[standard]>=0.133,<0.137), so the
# core is installed *beside* the vLLM already in the image: `vllm` is named again so pip's resolver
# keeps every one of vLLM's requirements satisfied, and the image's torch and vllm are held as
# constraints so nothing replaces the CUDA build. Never install turnout[api] or turnout[embeddings]
# here: [embeddings] pins torch==2.13.0. tests/deploy/test_gpu_requirements.py resolves the same set
# with pip against PyPI, reading VLLM_VERSION from this file.

ARG VLLM_VERSION=v0.33.0
FROM vllm/vllm-openai:${VLLM_VERSION}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    TURNOUT_ENVIRONMENT=production \
    HF_HOME=/home/turnout/.cache/huggingface

WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY alembic ./alembic
COPY evals ./evals
COPY jobs ./jobs
COPY service ./service
# A plain install, as in deploy/Dockerfile (the wheel ships the migrations); the check runs from /
# so that it imports the installed copy, not the tree in /app.
RUN python3 -m pip list --format=freeze | grep -iE '^(vllm|torch)==' > /tmp/vllm-image-pins.txt \
 && cat /tmp/vllm-image-pins.txt \
 && python3 -m pip install -c /tmp/vllm-image-pins.txt vllm /app \
 && cd / && python3 -c "import vllm, jobs.celery_app, jobs.gpu; print('vllm', vllm.__version__)"

RUN groupadd --system --gid 10001 turnout \
 && useradd --system --uid 10001 --gid turnout --home-dir /home/turnout --create-home turnout \
 && mkdir -p /home/turnout/.cache/huggingface && chown -R turnout:turnout /home/turnout
USER 10001:10001
WORKDIR /home/turnout

# The base image's entrypoint is `vllm serve`; a worker starts Celery instead. One worker per GPU,
# one task at a time, in the main process (--pool solo), so the engine is loaded once and kept.
ENTRYPOINT []
CMD ["celery", "-A", "jobs.celery_app", "worker", "-Q", "gpu", "--concurrency", "1", "--pool", "solo"]
