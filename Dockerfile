# syntax=docker/dockerfile:1
# Keyward — OIDC identity provider. Build: docker build -t keyward .
# See docker-compose.example.yml for a deployment with MongoDB.

# ---- Stage 1: production dependencies -------------------------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# devDependencies (incl. the `node` npm package) are omitted; the image's Node 24 runs the app.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- Stage 2: runtime -----------------------------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    KEYWARD_HOST=0.0.0.0 \
    KEYWARD_DATA_DIR=/app/data
WORKDIR /app

COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src/ ./src/
COPY views/ ./views/
COPY config/ ./config/
COPY scripts/ ./scripts/

RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

USER node
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"

# Node 24 runs TypeScript directly (type stripping); same as `npm start`.
CMD ["node", "--disable-warning=ExperimentalWarning", "src/main.ts"]
