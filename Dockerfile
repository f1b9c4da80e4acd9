# One image for the API, the worker and the Rancher simulator; the command picks the role.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
USER node
EXPOSE 3000
# The default role (all) runs the worker, so it starts with the worker's heap flags
# (src/config/worker-node-flags.ts).
CMD ["node", "--max-old-space-size=256", "--max-semi-space-size=8", "dist/src/main.js"]
