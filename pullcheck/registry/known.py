"""Tables of public facts the probe uses for suggestions and registry hints."""
from __future__ import annotations

import re
from typing import Pattern, Tuple

# Docker Hub official images (library/...) that pods commonly reference.
POPULAR_OFFICIAL_IMAGES = (
    "alpine", "amazonlinux", "busybox", "caddy", "cassandra", "centos", "consul", "couchdb",
    "debian", "docker", "eclipse-temurin", "elasticsearch", "fedora", "flink", "gcc", "ghost",
    "golang", "gradle", "haproxy", "httpd", "influxdb", "jenkins", "kibana", "logstash",
    "mariadb", "maven", "memcached", "mongo", "mysql", "nats", "neo4j", "nextcloud", "nginx",
    "node", "openjdk", "oraclelinux", "perl", "php", "postgres", "python", "rabbitmq", "redis",
    "registry", "rockylinux", "ruby", "rust", "solr", "sonarqube", "tomcat", "traefik", "ubuntu",
    "vault", "wordpress", "zookeeper",
)

# Names people write for an official image that is published under another name.
IMAGE_NAME_ALIASES = {
    "postgresql": "postgres",
    "mongodb": "mongo",
    "nodejs": "node",
    "go": "golang",
    "apache": "httpd",
    "apache2": "httpd",
    "java": "eclipse-temurin",
    "jdk": "eclipse-temurin",
    "rabbit": "rabbitmq",
    "memcache": "memcached",
    "elastic": "elasticsearch",
    "postgre": "postgres",
}

# Registry hints by API host: (pattern, registry name, hint). The first match wins.
REGISTRY_HINTS: Tuple[Tuple[Pattern[str], str, str], ...] = (
    (re.compile(r"^\d{12}\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"),
     "Amazon ECR",
     "ECR passwords (aws ecr get-login-password) expire after 12 hours: a static imagePullSecret "
     "stops working unless something refreshes it; nodes normally pull through the kubelet ECR "
     "credential provider with the node role (ecr:GetAuthorizationToken, ecr:BatchGetImage, "
     "ecr:GetDownloadUrlForLayer). The registry is per account and region ({region}): pulling from "
     "another region or account needs that registry's host and a repository policy allowing it."),
    (re.compile(r"^public\.ecr\.aws$"), "Amazon ECR Public",
     "Anonymous pulls from ECR Public are rate-limited per source IP; authenticated pulls get more."),
    (re.compile(r"^(?P<region>[a-z0-9-]+)-docker\.pkg\.dev$"), "Google Artifact Registry",
     "Artifact Registry ({region}): the pulling identity needs roles/artifactregistry.reader on the "
     "repository; on GKE that is the node service account. Secrets use user oauth2accesstoken "
     "(short-lived access token) or _json_key (service account key)."),
    (re.compile(r"^(?:[a-z]+\.)?gcr\.io$"), "Google Container Registry",
     "Container Registry (gcr.io) is deprecated; migrated projects serve gcr.io from Artifact "
     "Registry, where the pulling identity needs Artifact Registry read access on that project's "
     "gcr.io repository."),
    (re.compile(r"^[a-z0-9]+\.azurecr\.io$"), "Azure Container Registry",
     "ACR: on AKS attach the registry (az aks update --attach-acr) so the kubelet identity gets "
     "AcrPull; otherwise use a service principal or a repository-scoped token in the secret. "
     "Tokens from az acr login --expose-token expire after about 3 hours."),
    (re.compile(r"^ghcr\.io$"), "GitHub Container Registry",
     "GHCR: packages are private unless made public; the secret needs a personal access token "
     "(classic) with read:packages, or a GITHUB_TOKEN that has access to the package."),
    (re.compile(r"^quay\.io$"), "Quay",
     "Quay: private repositories need a robot account (org+name) with read permission on the "
     "repository; the secret from Quay's robot account page can be used as is."),
    (re.compile(r"^registry\.gitlab\.com$"), "GitLab Container Registry",
     "GitLab: use a deploy token or access token with read_registry scope for private projects."),
    (re.compile(r"^registry-1\.docker\.io$"), "Docker Hub",
     "Docker Hub: anonymous pulls are rate-limited per source IP (a NAT gateway shares one "
     "limit across all nodes); authenticated pulls get a higher limit. Official images live "
     "under library/."),
    (re.compile(r"^k8s\.gcr\.io$"), "Kubernetes legacy registry",
     "k8s.gcr.io is frozen; Kubernetes images are published on registry.k8s.io."),
)

# Token realm paths that identify registry products (detected from the challenge, no extra request).
REALM_PRODUCTS = (
    (re.compile(r"/service/token/?$"), "Harbor",
     "Harbor: private projects need a robot account (robot$project+name or robot$name) with pull "
     "permission; proxy-cache projects pull through from their upstream on first use."),
    (re.compile(r"/jwt/auth/?$"), "GitLab Container Registry",
     "GitLab: use a deploy token or access token with read_registry scope for private projects."),
    (re.compile(r"/v2/auth/?$"), "Quay",
     "Quay: private repositories need a robot account (org+name) with read permission."),
)
