# One image for every Warden service; the command picks the app (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
# HOST=0.0.0.0, METRICS_HOST=0.0.0.0: in a container the listeners must face the container network
# (the default elsewhere is 127.0.0.1; metrics are served only where METRICS_PORT is set).
ENV NODE_ENV=production HOST=0.0.0.0 METRICS_HOST=0.0.0.0 TURBO_TELEMETRY_DISABLED=1
COPY package.json package-lock.json ./
COPY apps/gateway/package.json apps/gateway/
COPY apps/sync-worker/package.json apps/sync-worker/
COPY apps/provision-worker/package.json apps/provision-worker/
COPY apps/web/package.json apps/web/
COPY apps/governance-worker/package.json apps/governance-worker/
COPY packages/database/package.json packages/database/
COPY packages/bus/package.json packages/bus/
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/access-model/package.json packages/access-model/
COPY packages/graph-core/package.json packages/graph-core/
COPY packages/graph-emulator/package.json packages/graph-emulator/
COPY packages/notifications/package.json packages/notifications/
COPY packages/connector-client/package.json packages/connector-client/
COPY tests/e2e/package.json tests/e2e/
# tsx runs the TypeScript sources directly, so dev dependencies (tsx) are needed at run time.
RUN npm ci --include=dev --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages packages
COPY apps apps
# The web console, served by the gateway from apps/web/dist.
RUN npm run build -w @warden/web
USER node
CMD ["node", "--import", "tsx", "apps/gateway/src/main.ts"]
