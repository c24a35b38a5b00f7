# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Static binary with the time-zone database embedded (time/tzdata), so
# Asia/Baghdad works on an image without /usr/share/zoneinfo.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/nashra ./cmd/nashra \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nashra /usr/local/bin/nashra
COPY --from=build --chown=nonroot:nonroot /out/data /data
WORKDIR /
ENV NASHRA_DATABASE_URL=sqlite:/data/nashra.db \
    NASHRA_HTTP_ADDR=:8080 \
    TZ=Asia/Baghdad
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/nashra", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/nashra"]
CMD ["run"]
