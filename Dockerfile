# syntax=docker/dockerfile:1

# Build: go-sqlite3 needs cgo, so the binary is built against glibc and
# runs on the Debian image of the same release.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/hromadabot ./cmd/hromadabot

# Run: a small image, a non-root user, the database on a volume.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin hromadabot \
 && mkdir -p /data \
 && chown hromadabot:hromadabot /data
COPY --from=build /out/hromadabot /usr/local/bin/hromadabot
ENV DATABASE_PATH=/data/hromada.db \
    HTTP_ADDR=:8080
VOLUME ["/data"]
WORKDIR /data
USER hromadabot
EXPOSE 8080
ENTRYPOINT ["hromadabot"]
CMD ["run"]
