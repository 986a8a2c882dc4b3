# syntax=docker/dockerfile:1
# One image for every Vigil service and the simulator. Build once, pick what runs by build arg or command:
#   docker build -t vigil .                                   # default: market-gateway
#   docker build -t vigil-watchdog --build-arg SERVICE=watchdog .
#   docker run vigil node services/strategy/dist/main.js      # or any entry below
# Entries: services/{market-gateway,strategy,executor,watchdog}/dist/main.js, packages/alpaca-sim/dist/cli.js.
# Not built by the tests or CI (their machines have no Docker engine): the same steps were run outside Docker
# (`pnpm -r build`; `pnpm install --frozen-lockfile --prod` plus the dist/ folders, each service started from it).
ARG NODE_IMAGE=node:20-slim

# --- build: every workspace package compiled to dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
RUN npm i -g pnpm@12.4.2
WORKDIR /app
# Manifests first, so the dependency layer is reused until one of them changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/alpaca-sim/package.json packages/alpaca-sim/
COPY services/market-gateway/package.json services/market-gateway/
COPY services/strategy/package.json services/strategy/
COPY services/executor/package.json services/executor/
COPY services/watchdog/package.json services/watchdog/
RUN pnpm install --frozen-lockfile
COPY packages packages
COPY services services
RUN pnpm -r build

# --- prod-deps: the same workspace with production dependencies only ---------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
RUN npm i -g pnpm@12.4.2
WORKDIR /app
COPY --from=build /app/package.json /app/pnpm-lock.yaml /app/pnpm-workspace.yaml /app/.npmrc ./
COPY --from=build /app/packages/contracts/package.json packages/contracts/
COPY --from=build /app/packages/service-kit/package.json packages/service-kit/
COPY --from=build /app/packages/alpaca-sim/package.json packages/alpaca-sim/
COPY --from=build /app/services/market-gateway/package.json services/market-gateway/
COPY --from=build /app/services/strategy/package.json services/strategy/
COPY --from=build /app/services/executor/package.json services/executor/
COPY --from=build /app/services/watchdog/package.json services/watchdog/
RUN pnpm install --frozen-lockfile --prod --ignore-scripts

# --- runtime: node, production node_modules and dist/ only, as the unprivileged `node` user ---------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    # Listen on the pod/container network so probes and Prometheus reach /healthz, /readyz and /metrics.
    HTTP_HOST=0.0.0.0
WORKDIR /app
# Workspace packages are symlinked from each package's node_modules; `exports` resolves them to dist/.
COPY --from=prod-deps /app ./
COPY --from=build /app/packages/contracts/dist packages/contracts/dist
COPY --from=build /app/packages/service-kit/dist packages/service-kit/dist
COPY --from=build /app/packages/alpaca-sim/dist packages/alpaca-sim/dist
COPY --from=build /app/services/market-gateway/dist services/market-gateway/dist
COPY --from=build /app/services/strategy/dist services/strategy/dist
COPY --from=build /app/services/executor/dist services/executor/dist
COPY --from=build /app/services/watchdog/dist services/watchdog/dist
USER node
ARG SERVICE=market-gateway
ENV VIGIL_SERVICE=${SERVICE}
# exec: node is PID 1 and gets SIGTERM itself, so the service drains NATS and stops cleanly.
CMD ["/bin/sh", "-c", "if [ \"$VIGIL_SERVICE\" = alpaca-sim ]; then exec node packages/alpaca-sim/dist/cli.js; else exec node \"services/$VIGIL_SERVICE/dist/main.js\"; fi"]
