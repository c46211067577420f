# The bothost image: one image, the role is the command (start, worker, gateway, telegram …).
# Build stage: compile the product only (src + adapters; tests and benchmarks are not part of it).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY adapters ./adapters
# --ignore-scripts: `prepare` would build before the sources are in place, and again after.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and the compiled output, as the unprivileged `node` user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json bots.yaml ./
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["start"]
