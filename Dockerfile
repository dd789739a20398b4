# The dashboard's page, built with Node.js (versions locked in package-lock.json).
FROM node:20-slim AS dashboard
WORKDIR /web
COPY services/dashboard/web/package.json services/dashboard/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY services/dashboard/web/ ./
RUN npm run build

FROM python:3.11-slim
# g++: QuickFIX (the FIX engine of the venues and the router) compiles from source
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir "cython>=3.0,<4" "numpy>=1.26,<3" "setuptools>=70" wheel \
 && pip install --no-cache-dir --no-build-isolation -e .
COPY --from=dashboard /web/dist services/dashboard/web/dist
