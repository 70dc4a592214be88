# UniQVerse hub. Node 22 LTS, runs as the unprivileged "node" user.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY seeds ./seeds
COPY views ./views
COPY public ./public
COPY docs/openapi.yaml ./docs/openapi.yaml
# `uniqverse …` inside the container (docker compose exec hub uniqverse seed).
RUN ln -s /app/bin/uniqverse.js /usr/local/bin/uniqverse && mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=4", "--experimental-async-context-frame", "src/main.ts"]
