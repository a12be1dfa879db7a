# ecs-gitops controller image: `ecs-gitops run` as the entry point, no credentials inside.
# AWS credentials come from the task role (ECS) or the standard AWS environment at run time;
# git credentials from an SSH key or a credential helper configured at run time.
FROM python:3.12-slim-bookworm

# git drives clone/fetch/push; ca-certificates for https remotes; openssh-client for ssh remotes
RUN apt-get update \
    && apt-get install -y --no-install-recommends git=1:2.39.* openssh-client=1:9.2* ca-certificates=20230311* \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/ecs-gitops
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY repo-layout ./repo-layout
# controller/schemas links to repo-layout/schemas in the source tree; a copy is enough in the image
RUN rm -f controller/schemas && cp -r repo-layout/schemas controller/schemas \
    && pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 ecs-gitops \
    && mkdir -p /var/lib/ecs-gitops \
    && chown 10001 /var/lib/ecs-gitops

USER 10001
# The working clone and the rollout journal live here: mount a volume (EFS on ECS) so that a
# replaced task resumes the rollouts its predecessor was running.
ENV XDG_CACHE_HOME=/var/lib/ecs-gitops \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
VOLUME ["/var/lib/ecs-gitops"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3).status == 200 else 1)"]
# Listening on every interface so that a load balancer can deliver webhooks; add --repo ...
ENTRYPOINT ["ecs-gitops", "run", "--listen", "0.0.0.0:8080", "--log-format", "json"]
CMD ["--help"]
