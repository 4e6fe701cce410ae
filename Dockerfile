# syntax=docker/dockerfile:1
# The one ambit image: the control plane, the ztunnel, the CNI installer and agent, and waypoints all run it
# (the manifests in daemonset/ and the templates in waypoint/ pick the process with `command`).
#   docker build -t ghcr.io/ambit-mesh/ambit:$(node -p "require('./package.json').version") .

FROM node:20-slim AS build
# node-gyp builds the native addon (netns sockets, SO_ORIGINAL_DST, SO_MARK, IP_TRANSPARENT).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: the prepare script sets up a developer machine (apt packages, build); here each step is explicit.
RUN npm ci --ignore-scripts
COPY src ./src
COPY native ./native
RUN npx tsc -p tsconfig.json \
 && npx node-gyp rebuild -C native \
 && npm prune --omit=dev

FROM node:20-slim
# iptables (in-pod redirection rules) and iproute2 (ip netns, routes); ldd (libc-bin, in the base image) lets
# cni/install-cni.sh copy the Node.js runtime the CNI plugin uses on the node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/native/build/Release/ambit_net.node ./native/build/Release/ambit_net.node
COPY package.json ./
COPY native/binding.gyp ./native/binding.gyp
COPY bin ./bin
COPY daemonset ./daemonset
COPY waypoint ./waypoint
COPY cni ./cni
# The xDS .proto files are read at run time from src/xds/proto (src/xds/proto-root.ts).
COPY src/xds/proto ./src/xds/proto
ENV PATH=/app/bin:$PATH \
    NODE_ENV=production
# Each component's securityContext chooses its user: the ztunnel and CNI agent need root with a few capabilities,
# the control plane and waypoints run as 1337.
CMD ["ambit", "help"]
