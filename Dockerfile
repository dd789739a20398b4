FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir "cython>=3.0,<4" "numpy>=1.26,<3" "setuptools>=70" wheel \
 && pip install --no-cache-dir --no-build-isolation -e .
