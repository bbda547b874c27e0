# One image for every RepayMesh node; SERVICES chooses what a container runs.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN useradd --system --uid 10001 repaymesh && mkdir -p /app/data /app/banks && chown repaymesh /app/data /app/banks
USER repaymesh
EXPOSE 3000
CMD ["node_modules/.bin/tsx", "bin/start.ts"]
