# hpctl: the controller and the simulated plant in one image (the command picks which).
#   docker build -t hpctl .
#   docker run --rm hpctl demo --quiet
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY drivers ./drivers
COPY sim_plant ./sim_plant
RUN python -m venv /opt/hpctl \
 && /opt/hpctl/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/hpctl/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
# a dedicated unprivileged user, as on the edge PC
RUN groupadd --system hpctl \
 && useradd --system --gid hpctl --home-dir /var/lib/hpctl --shell /usr/sbin/nologin hpctl \
 && install -d -o hpctl -g hpctl -m 750 /var/lib/hpctl
COPY --from=build /opt/hpctl /opt/hpctl
COPY deploy /opt/hpctl/deploy
COPY controller/scenarios /opt/hpctl/controller/scenarios
ENV PATH=/opt/hpctl/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /opt/hpctl
USER hpctl
# Prometheus metrics and /healthz
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["hpctl"]
CMD ["--help"]
