# One image for every service: `docker run IMAGE services gateway`, `… database upgrade --yes`, and so on.
# Node 22 runs the TypeScript sources directly (type stripping), so there is no build step.
FROM node:22.23-bookworm-slim

ENV NODE_ENV=production \
    PREFECT_SERVER__SERVICES__HOST=0.0.0.0
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY services ./services
COPY migrations ./migrations
COPY .gmrc ./

USER node
ENTRYPOINT ["node", "bin/prefect-server.js"]
CMD ["--help"]
