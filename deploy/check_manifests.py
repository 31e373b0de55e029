"""Checks the rendered manifests for the rules the schemas and checkov do not know.

Usage: check_manifests.py RENDERED_DIR REPO_ROOT

RENDERED_DIR holds helm-postgresql.yaml (authentication on), helm-postgresql-tls.yaml (and TLS),
helm-sqlite.yaml (development mode), kustomize-dev.yaml, kustomize-production.yaml and
kustomize-production-tls.yaml. Prints every problem and exits 1 if there is any.
"""

import re
import sys
from pathlib import Path

import yaml

SERVICES = {"registry": 50051, "survey": 50052, "monitoring": 50053}
# Who each service calls (the NetworkPolicies must allow exactly this among the services).
CALLS = {"registry": set(), "survey": {"registry"}, "monitoring": {"registry", "survey"}}

# Files a service reads, by the variable naming them: only when the variable is set.
SERVER_TLS_FILES = ("SHEQU__SERVER__TLS__CERT_FILE", "SHEQU__SERVER__TLS__KEY_FILE",
                    "SHEQU__SERVER__TLS__CLIENT_CA_FILE")
CLIENT_TLS_FILES = ("SHEQU__CLIENT__CA_FILE", "SHEQU__CLIENT__CERT_FILE", "SHEQU__CLIENT__KEY_FILE")

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def load(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def workspace_version(root):
    text = (root / "Cargo.toml").read_text()
    match = re.search(r'\[workspace\.package\][^\[]*?\nversion\s*=\s*"([^"]+)"', text)
    return match.group(1)


def check_pod(where, pod, container):
    sc = pod.get("securityContext", {})
    if not sc.get("runAsNonRoot") or sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(where, "pod securityContext must set runAsNonRoot and seccomp RuntimeDefault")
    if pod.get("automountServiceAccountToken") is not False:
        problem(where, "automountServiceAccountToken must be false")
    csc = container.get("securityContext", {})
    wanted = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
    for key, value in wanted.items():
        if csc.get(key) is not value:
            problem(where, f"container securityContext.{key} must be {value}")
    if csc.get("capabilities", {}).get("drop") != ["ALL"]:
        problem(where, "container must drop ALL capabilities")
    if csc.get("runAsUser", 0) < 10000:
        problem(where, "container must run as a fixed UID of 10000 or more")
    res = container.get("resources", {})
    for part in ("requests", "limits"):
        for what in ("cpu", "memory"):
            if what not in res.get(part, {}):
                problem(where, f"resources.{part}.{what} is missing")


def config_of(docs, deployment, container):
    """The environment a container gets: its ConfigMaps, then its env entries."""
    maps = by_kind(docs, "ConfigMap")
    env = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        env.update(maps[name]["data"])
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


def mounted_file(pod, container, path):
    """Why `path` is not a file the pod gets from a Secret, ConfigMap or projected volume mounted
    read-only as a directory (so updates reach the running pod), or None when it is."""
    if not isinstance(path, str) or not path.startswith("/"):
        return f"{path!r} is not an absolute path"
    mounts = [m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")]
    if not mounts:
        return f"nothing is mounted at {path}"
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    if mount.get("subPath") or mount.get("subPathExpr"):
        return f"{mount['mountPath']} is a subPath mount, which never sees updates"
    if mount.get("readOnly") is not True:
        return f"{mount['mountPath']} must be mounted readOnly"
    volume = next((v for v in pod.get("volumes", []) if v["name"] == mount["name"]), None)
    if volume is None:
        return f"volume {mount['name']} is not defined"
    relative = path[len(mount["mountPath"].rstrip("/")) + 1:]
    if "secret" in volume or "configMap" in volume:
        sources = [volume.get("secret") or volume.get("configMap")]
    elif "projected" in volume:
        sources = [s.get("secret") or s.get("configMap") for s in volume["projected"].get("sources", [])]
        if None in sources:
            return f"volume {mount['name']} projects something other than a Secret or ConfigMap"
    else:
        return f"volume {mount['name']} is not a Secret, ConfigMap or projected volume"
    paths = set()
    for source in sources:
        items = source.get("items")
        if items is None:
            return None  # every key of the source appears, under its own name
        paths.update(item["path"] for item in items)
    if relative not in paths:
        return f"volume {mount['name']} has no item at {relative} (it has {sorted(paths)})"
    return None


def check_files(where, pod, container, env, keys):
    for key in keys:
        if key not in env:
            problem(where, f"{key} is not set")
            continue
        why = mounted_file(pod, container, env[key])
        if why:
            problem(where, f"{key}={env[key]}: {why}")


def check_security(where, svc, pod, container, env, shape):
    """Authentication (jwt in production, development mode only on SQLite) and TLS files."""
    mode = env.get("SHEQU__AUTH__MODE", "off")
    if "SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES" in env and shape == "postgresql":
        problem(where, "production must not set SHEQU__AUTH__ALLOW_OFF_WITH_POSTGRES")
    if shape == "postgresql" and mode != "jwt":
        problem(where, f"PostgreSQL (production) needs SHEQU__AUTH__MODE=jwt, not {mode}")
    if shape == "sqlite" and mode != "off":
        problem(where, f"the SQLite shape stays in development mode, not {mode}")
    if mode == "jwt":
        if not env.get("SHEQU__AUTH__ISSUER"):
            problem(where, "SHEQU__AUTH__ISSUER must name the issuer")
        check_files(where, pod, container, env, ["SHEQU__AUTH__JWKS_FILE"])
        if CALLS[svc]:
            check_files(where, pod, container, env, ["SHEQU__CLIENT__TOKEN_FILE"])
    elif "SHEQU__CLIENT__TOKEN_FILE" in env:
        problem(where, "a service token without authentication")
    tls = "SHEQU__SERVER__TLS__HEALTH_LISTEN" in env
    if tls:
        check_files(where, pod, container, env, SERVER_TLS_FILES)
        if CALLS[svc]:
            check_files(where, pod, container, env, CLIENT_TLS_FILES)
    elif any(k.startswith("SHEQU__SERVER__TLS__") for k in env):
        problem(where, "[server.tls] without SHEQU__SERVER__TLS__HEALTH_LISTEN: the probes need it")
    return tls


def health_port(env):
    """The port the probes must use: the plaintext health port under TLS, else None."""
    listen = env.get("SHEQU__SERVER__TLS__HEALTH_LISTEN")
    if listen is None:
        return None
    host, _, port = listen.rpartition(":")
    return int(port) if host == "0.0.0.0" and port.isdigit() else -1


def check_render(name, docs, shape, version):
    deployments = by_kind(docs, "Deployment")
    services = by_kind(docs, "Service")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    policies = list(by_kind(docs, "NetworkPolicy").values())
    jobs = by_kind(docs, "Job")
    envs = {}
    for svc, port in SERVICES.items():
        where = f"{name} shequ-{svc}"
        dep = deployments.get(f"shequ-{svc}")
        if dep is None:
            problem(where, "Deployment is missing")
            continue
        pod = dep["spec"]["template"]["spec"]
        container = pod["containers"][0]
        check_pod(where, pod, container)
        if not container["image"].split("@")[0].endswith(f"/shequ-{svc}:{version}"):
            problem(where, f"image {container['image']} is not release {version}")
        env = config_of(docs, dep, container)
        envs[svc] = env
        tls = check_security(where, svc, pod, container, env, shape)
        health = health_port(env)
        if health == -1:
            problem(where, "SHEQU__SERVER__TLS__HEALTH_LISTEN must be 0.0.0.0:<port>")
        probe_port = health if tls else port
        if tls and probe_port == port:
            problem(where, "the health port must differ from the gRPC port")
        if tls and not any(p.get("containerPort") == probe_port for p in container.get("ports", [])):
            problem(where, f"the health port {probe_port} is not a container port")
        probes = {k: container.get(k, {}).get("grpc") for k in ("startupProbe", "livenessProbe", "readinessProbe")}
        for kind, grpc in probes.items():
            if not grpc or grpc.get("port") != probe_port:
                problem(where, f"{kind} must be a gRPC probe on port {probe_port}"
                        + (" (the plaintext health port: TLS is on)" if tls else ""))
        if (probes["readinessProbe"] or {}).get("service") != "readiness":
            problem(where, "readinessProbe must ask for the `readiness` health entry")
        if (probes["livenessProbe"] or {}).get("service", "") != "":
            problem(where, "livenessProbe must ask for the process entry (\"\")")
        if env.get("SHEQU__SERVER__LISTEN") != f"0.0.0.0:{port}":
            problem(where, f"SHEQU__SERVER__LISTEN must be 0.0.0.0:{port}")
        for other in CALLS[svc]:
            key = f"SHEQU__{svc.upper()}__{other.upper()}_ENDPOINT"
            scheme = "https" if tls else "http"
            if env.get(key) != f"{scheme}://shequ-{other}:{SERVICES[other]}":
                problem(where, f"{key} must name the shequ-{other} Service over {scheme}")
        if int(env.get("SHEQU__SERVER__MAX_CONNECTION_AGE_SECS", "0")) <= 0:
            problem(where, "SHEQU__SERVER__MAX_CONNECTION_AGE_SECS must be set")
        grace = int(env.get("SHEQU__SERVER__SHUTDOWN_GRACE_SECS", "20"))
        pause = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
        if not pause:
            problem(where, "a preStop sleep is missing")
        total = pod.get("terminationGracePeriodSeconds", 30)
        if total < (pause or 0) + grace + 1:
            problem(where, f"terminationGracePeriodSeconds {total} < preStop {pause} + grace {grace} + 1")
        for suffix, headless in (("", False), ("-headless", True)):
            service = services.get(f"shequ-{svc}{suffix}")
            if service is None:
                problem(where, f"Service shequ-{svc}{suffix} is missing")
            elif (service["spec"].get("clusterIP") == "None") != headless:
                problem(where, f"Service shequ-{svc}{suffix} headless should be {headless}")
        if f"shequ-{svc}" not in pdbs:
            problem(where, "PodDisruptionBudget is missing")
        replicas = dep["spec"].get("replicas")
        strategy = dep["spec"].get("strategy", {}).get("type")
        if shape == "sqlite":
            if replicas != 1 or strategy != "Recreate":
                problem(where, "SQLite needs one replica and the Recreate strategy")
            if "SHEQU__DATABASE__URL" in env or not env.get("SHEQU__DATABASE__DATA_DIR"):
                problem(where, "SQLite keeps its file in SHEQU__DATABASE__DATA_DIR and sets no URL")
            if not any(v.get("persistentVolumeClaim") for v in pod.get("volumes", [])):
                problem(where, "SQLite needs a PersistentVolumeClaim")
            if f"shequ-{svc}" in hpas:
                problem(where, "no HorizontalPodAutoscaler on SQLite")
        else:
            hpa = hpas.get(f"shequ-{svc}")
            if hpa is None or hpa["spec"]["minReplicas"] < 2:
                problem(where, "PostgreSQL needs a HorizontalPodAutoscaler with minReplicas >= 2")
            if replicas is not None and replicas < 2:
                problem(where, "PostgreSQL needs at least two replicas")
            url = env.get("SHEQU__DATABASE__URL")
            if not isinstance(url, dict) or "secretKeyRef" not in url:
                problem(where, "SHEQU__DATABASE__URL must come from a Secret")
            if env.get("SHEQU__DATABASE__MIGRATE_ON_START") != "false":
                problem(where, "replicas must leave migrations to the Job")
            migrations = [
                j for j in jobs.values()
                if j["spec"]["template"]["spec"]["containers"][0]["image"] == container["image"]
            ]
            if len(migrations) != 1 or migrations[0]["spec"]["template"]["spec"]["containers"][0].get("args") != ["migrate"]:
                problem(where, "exactly one migration Job running `migrate` with the same image is needed")
            for job in migrations:
                hook = job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
                once = "pre-upgrade" in hook or job["metadata"]["name"].endswith(version.replace(".", "-"))
                if not once:
                    problem(where, f"job/{job['metadata']['name']} must run once per release (a Helm hook or the release in its name)")
                check_pod(f"{name} job/{job['metadata']['name']}", job["spec"]["template"]["spec"],
                          job["spec"]["template"]["spec"]["containers"][0])
        check_policies(where, svc, policies, shape, probe_port if tls else None)
    return envs


def selects(policy, labels):
    selector = policy["spec"]["podSelector"]
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def peer_names(rule):
    names = set()
    for peer in rule.get("to", []) + rule.get("from", []):
        labels = peer.get("podSelector", {}).get("matchLabels", {})
        name = labels.get("app.kubernetes.io/name", "")
        if name.startswith("shequ-") and name[6:] in SERVICES:
            names.add(name[6:])
    return names


def check_policies(where, svc, policies, shape, health):
    labels = {"app.kubernetes.io/name": f"shequ-{svc}", "app.kubernetes.io/component": svc}
    if not any(selects(p, {}) and not p["spec"]["podSelector"] and not p["spec"].get("ingress")
               and not p["spec"].get("egress") and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
               for p in policies):
        problem(where, "no default-deny NetworkPolicy")
    mine = [p for p in policies if selects(p, labels)]
    egress = set().union(*(peer_names(r) for p in mine for r in p["spec"].get("egress", [])))
    if egress != CALLS[svc]:
        problem(where, f"egress to services {sorted(egress)}, expected {sorted(CALLS[svc])}")
    callers = {s for s, calls in CALLS.items() if svc in calls}
    ingress = set().union(*(peer_names(r) for p in mine for r in p["spec"].get("ingress", [])))
    if ingress != callers:
        problem(where, f"ingress from services {sorted(ingress)}, expected {sorted(callers)}")
    ports = {port.get("port") for p in mine for r in p["spec"].get("egress", []) for port in r.get("ports", [])}
    if 4317 not in ports:
        problem(where, "no egress to the collector (4317)")
    if shape == "postgresql" and 5432 not in ports:
        problem(where, "no egress to the database (5432)")
    if health is not None:
        opened = {port.get("port") for p in mine for r in p["spec"].get("ingress", []) for port in r.get("ports", [])}
        if health not in opened:
            problem(where, f"no ingress to the plaintext health port {health}")


def main():
    rendered, root = Path(sys.argv[1]), Path(sys.argv[2])
    version = workspace_version(root)
    chart = yaml.safe_load((root / "deploy/helm/shequ/Chart.yaml").read_text())
    if chart["appVersion"] != version:
        problem("Chart.yaml", f"appVersion {chart['appVersion']} is not the workspace version {version}")
    dockerfile = (root / "deploy/docker/Dockerfile").read_text()
    if f"ARG VERSION={version}\n" not in dockerfile:
        problem("Dockerfile", f"the default VERSION is not the workspace version {version}")
    for binary in ("shequ-registry", "shequ-survey", "shequ-monitoring", "shequ"):
        if f"AS {binary}\n" not in dockerfile:
            problem("Dockerfile", f"no target {binary}")
    shapes = {
        "helm-postgresql": "postgresql",
        "helm-postgresql-tls": "postgresql",
        "kustomize-production": "postgresql",
        "kustomize-production-tls": "postgresql",
        "helm-sqlite": "sqlite",
        "kustomize-dev": "sqlite",
    }
    envs = {name: check_render(name, load(rendered / f"{name}.yaml"), shape, version)
            for name, shape in shapes.items()}
    # The chart and the overlays configure the services through the same variables.
    pairs = (("helm-postgresql", "kustomize-production"), ("helm-postgresql-tls", "kustomize-production-tls"),
             ("helm-sqlite", "kustomize-dev"))
    for helm, kustomize in pairs:
        for svc in SERVICES:
            a, b = set(envs[helm].get(svc, {})), set(envs[kustomize].get(svc, {}))
            if a != b:
                problem(f"{helm} vs {kustomize} shequ-{svc}", f"variables differ: {sorted(a ^ b)}")
    for line in problems:
        print(f"error: {line}")
    if problems:
        sys.exit(1)
    print(f"manifest checks: {len(shapes)} renders, {len(SERVICES)} services each, all rules hold")


main()
