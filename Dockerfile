# syntax=docker/dockerfile:1
# Bastion: build stage compiles TypeScript and prunes dev dependencies; the runtime stage holds the
# compiled server, its production node_modules and nothing else (no sources, no compiler, no tsx).
# Secrets never enter a layer: give them at run time as <NAME>_FILE (see docs/deploy.md).

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/ ./scripts/
COPY migrations/ ./migrations/
COPY src/ ./src/
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:24.22.3-bookworm-slim AS runtime
# tini is PID 1: it forwards SIGTERM to node (which drains, then exits) and reaps zombies.
# (Without it, run the image with `docker run --init`.)
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=3000 \
  DATA_DIR=/data
WORKDIR /app
# Owned by root, read-only to the server's user; only /data is the server's to write.
COPY package.json LICENSE ./
COPY bin/ ./bin/
COPY scripts/dist.mjs ./scripts/dist.mjs
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "--max-semi-space-size=16", "--liftoff-only", "dist/src/main.js"]
