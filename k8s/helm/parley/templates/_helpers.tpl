{{/* Release-wide name: the release name, or <release>-parley when the release name does not contain "parley". */}}
{{- define "parley.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "parley.selectorLabels" -}}
app.kubernetes.io/name: parley
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "parley.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "parley.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: parley
{{- end -}}

{{- define "parley.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "parley.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The Secret every part reads its secret settings from (envFrom). */}}
{{- define "parley.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-env" (include "parley.fullname" .)) -}}
{{- end -}}

{{/* A pinned image tag: dict "root" $ "tag" <override or "">. `latest` (or no tag at all) is refused. */}}
{{- define "parley.tag" -}}
{{- $tag := .tag | default .root.Values.image.tag | default .root.Chart.AppVersion | toString -}}
{{- if eq $tag "latest" -}}
{{- fail "image tag \"latest\" is refused: pin a Parley release (image.tag, canary.tag)" -}}
{{- end -}}
{{- $tag -}}
{{- end -}}

{{/* <registry>/<repository>-<distribution>(@digest | :tag): dict "root" $ "workload" <workload>. */}}
{{- define "parley.image" -}}
{{- $img := .root.Values.image -}}
{{- $base := printf "%s/%s-%s" $img.registry $img.repository .workload.distribution -}}
{{- if and $img.digest (ne .workload.track "canary") -}}
{{- printf "%s@%s" $base $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $base (include "parley.tag" (dict "root" .root "tag" .workload.tag)) -}}
{{- end -}}
{{- end -}}

{{/*
The Deployments this release runs, as a YAML list. key: the values section; name: the object name suffix;
track: stable or canary (gateway only).
*/}}
{{- define "parley.workloads" -}}
{{- if .Values.gateway.enabled }}
- {key: gateway, name: gateway, component: gateway, distribution: gateway, track: stable, tag: "", exposed: true, autoscaled: {{ .Values.gateway.autoscaling.enabled }}}
{{- if .Values.canary.enabled }}
{{- if not .Values.canary.tag }}{{ fail "canary.enabled needs canary.tag: the image tag of the canary track" }}{{ end }}
- {key: gateway, name: gateway-canary, component: gateway, distribution: gateway, track: canary, tag: {{ .Values.canary.tag | toString | quote }}, exposed: true, autoscaled: false}
{{- end }}
{{- end }}
{{- if .Values.worker.enabled }}
- {key: worker, name: worker, component: worker, distribution: worker, track: stable, tag: "", exposed: false, autoscaled: false}
{{- end }}
{{- if .Values.allInOne.enabled }}
- {key: allInOne, name: all-in-one, component: all-in-one, distribution: all-in-one, track: stable, tag: "", exposed: true, autoscaled: false}
{{- end }}
{{- end -}}

{{- define "parley.workloadSelector" -}}
{{ include "parley.selectorLabels" .root }}
app.kubernetes.io/component: {{ .workload.component }}
parley.dev/track: {{ .workload.track }}
{{- end -}}

{{- define "parley.shutdownTimeout" -}}
{{- index .Values.config "PARLEY_SHUTDOWN_TIMEOUT_SECONDS" | default "30" | int -}}
{{- end -}}
