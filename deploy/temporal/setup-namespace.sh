#!/bin/sh
# The complaint engine's namespace and search attributes on the Temporal server at
# $TEMPORAL_ADDRESS; docker-compose.yml's temporal-setup service runs it once the server is
# healthy (tests/compose runs it against a dev server). Idempotent: what exists is left alone.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"
RETENTION=${RETENTION:-168h}
ATTEMPTS=${ATTEMPTS:-60}

retry() {  # the server answers before every service in it is ready; a new namespace takes a moment
  n=1
  until "$@"; do
    [ "$n" -lt "$ATTEMPTS" ] || { echo "gave up after $n attempts: $*" >&2; return 1; }
    n=$((n + 1))
    sleep 2
  done
}

at="--address $TEMPORAL_ADDRESS"
retry temporal operator cluster health $at >/dev/null
if ! temporal operator namespace describe $at --namespace "$NAMESPACE" >/dev/null 2>&1; then
  retry temporal operator namespace create $at --namespace "$NAMESPACE" --retention "$RETENTION"
fi
for pair in $SEARCH_ATTRIBUTES; do
  name=${pair%%=*} type=${pair#*=}
  if temporal operator search-attribute list $at --namespace "$NAMESPACE" | grep -qw "$name"; then
    echo "search attribute $name exists"
    continue
  fi
  retry temporal operator search-attribute create $at --namespace "$NAMESPACE" \
    --name "$name" --type "$type"
done
echo "namespace $NAMESPACE and its search attributes are ready"
