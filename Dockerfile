# One image for every service: `docker run IMAGE services gateway`, `… database upgrade --yes`, and so on.
# The services run compiled to JavaScript (`npm run build`, made in the first stage): Node could run the
# TypeScript sources directly, but each service then holds about 40 MB more and starts slower.
FROM node:22.23-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin/build.js ./bin/
COPY services ./services
RUN npm run build

FROM node:22.23-bookworm-slim

ENV NODE_ENV=production \
    PREFECT_SERVER__SERVICES__HOST=0.0.0.0
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
# the sources too: the mutations service reads its SDL files from there, and bin/prefect-server.js checks that
# the build is newer than them
COPY services ./services
COPY migrations ./migrations
COPY .gmrc ./
COPY --from=build /app/dist ./dist

USER node
ENTRYPOINT ["node", "bin/prefect-server.js"]
CMD ["--help"]
