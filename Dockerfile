# syntax=docker/dockerfile:1
# One image for the three Tally bins; docker-compose.yml and the Kubernetes
# manifests (deploy/kubernetes) pick the bin per service:
#   node packages/discovery/dist/tally-discovery.js   (tally-discovery)
#   node packages/node/dist/tally-node.js             (tally-node, data in /var/lib/tally)
#   node packages/gateway/dist/tally-gateway.js       (tally-gateway)
# Each is one bundled file (scripts/bundle-bins.mjs, run by npm run build)
# with its source map, V8's code cache of it (written by the build's Node, the
# image's own) and the licences of the npm packages inside it.
# test/dockerfile.test.ts replays the build stage on exactly what the COPY
# lines bring in, so a file the build needs but the image lacks fails CI.

# --- build: install everything, compile, then drop dev dependencies ---------
FROM node:20-slim AS build
WORKDIR /app
# Manifests (and the tiny committed bin launchers npm links at install time)
# first, so the dependency layer is cached until a lockfile or manifest changes.
COPY package.json package-lock.json ./
COPY packages/crdt/package.json packages/crdt/
COPY packages/kit/package.json packages/kit/
COPY packages/node/package.json packages/node/
COPY packages/node/bin packages/node/bin
COPY packages/discovery/package.json packages/discovery/
COPY packages/discovery/bin packages/discovery/bin
COPY packages/gateway/package.json packages/gateway/
COPY packages/gateway/bin packages/gateway/bin
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json LICENSE ./
COPY scripts/bundle-bins.mjs scripts/bin-entry.mjs scripts/
COPY packages packages
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled JavaScript and production dependencies only ----------
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/LICENSE ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/crdt/package.json packages/crdt/
COPY --from=build /app/packages/crdt/dist packages/crdt/dist
# @tally/kit: private, shared by the three bins at run time (settings, HTTP base).
COPY --from=build /app/packages/kit/package.json packages/kit/
COPY --from=build /app/packages/kit/dist packages/kit/dist
COPY --from=build /app/packages/node/package.json packages/node/
COPY --from=build /app/packages/node/bin packages/node/bin
COPY --from=build /app/packages/node/dist packages/node/dist
COPY --from=build /app/packages/discovery/package.json packages/discovery/
COPY --from=build /app/packages/discovery/bin packages/discovery/bin
COPY --from=build /app/packages/discovery/dist packages/discovery/dist
COPY --from=build /app/packages/gateway/package.json packages/gateway/
COPY --from=build /app/packages/gateway/bin packages/gateway/bin
COPY --from=build /app/packages/gateway/dist packages/gateway/dist
# Named volumes mounted here inherit this ownership on first use. The `node`
# user is uid/gid 1000 (the Kubernetes manifests run as that uid).
RUN mkdir -p /var/lib/tally && chown node:node /var/lib/tally
USER node
VOLUME /var/lib/tally
EXPOSE 8000 8010 8080 9000 6379 6380
CMD ["node", "packages/node/dist/tally-node.js", "--help"]
