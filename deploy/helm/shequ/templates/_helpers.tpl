{{/* The three services in a fixed order, with the gRPC services each one calls. */}}
{{- define "shequ.services" -}}
registry: []
survey: [registry]
monitoring: [registry, survey]
{{- end -}}

{{- define "shequ.labels" -}}
app.kubernetes.io/part-of: shequ
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "shequ.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.digest -}}
{{ printf "%s%s:%s@%s" .root.Values.image.repositoryPrefix .binary $tag .root.Values.image.digest }}
{{- else -}}
{{ printf "%s%s:%s" .root.Values.image.repositoryPrefix .binary $tag }}
{{- end -}}
{{- end -}}

{{- define "shequ.sqlite" -}}
{{- eq .Values.database.type "sqlite" -}}
{{- end -}}

{{/* The restricted container security context. */}}
{{- define "shequ.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shequ.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shequ.checks" -}}
{{- if and (ne .Values.database.type "postgresql") (ne .Values.database.type "sqlite") -}}
{{- fail "database.type must be postgresql or sqlite" -}}
{{- end -}}
{{- if and (ne .Values.auth.mode "jwt") (ne .Values.auth.mode "off") -}}
{{- fail "auth.mode must be jwt or off" -}}
{{- end -}}
{{- if and (eq .Values.auth.mode "off") (eq .Values.database.type "postgresql") (not .Values.auth.allowOffWithPostgres) -}}
{{- fail "auth.mode off (no authentication) is refused with database.type postgresql: set auth.mode jwt, or auth.allowOffWithPostgres true to force it" -}}
{{- end -}}
{{- if and (eq .Values.auth.mode "jwt") (not .Values.auth.issuer) -}}
{{- fail "auth.issuer must name the token issuer (the tokens' iss claim) with auth.mode jwt" -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- range $name, $svc := .Values.services -}}
{{- if eq (int $svc.port) (int $.Values.tls.healthPort) -}}
{{- fail (printf "tls.healthPort must differ from services.%s.port" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.database.type "sqlite" -}}
{{- range $name, $svc := .Values.services -}}
{{- if ne (int $svc.replicas) 1 -}}
{{- fail (printf "services.%s.replicas must be 1 with database.type sqlite: SQLite has a single writer" $name) -}}
{{- end -}}
{{- if $svc.autoscaling.enabled -}}
{{- fail (printf "services.%s.autoscaling.enabled must be false with database.type sqlite" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}


{{/* Where the mounted files are; the ConfigMap names them, the Deployment mounts them. */}}
{{- define "shequ.jwksDir" -}}/etc/shequ/jwks{{- end -}}
{{- define "shequ.tokenDir" -}}/etc/shequ/token{{- end -}}
{{- define "shequ.tlsDir" -}}/etc/shequ/tls{{- end -}}

{{/* The scheme of the services' endpoints. */}}
{{- define "shequ.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end -}}
{{- end -}}
