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
