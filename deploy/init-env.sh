#!/bin/sh
# First-run secrets for docker-compose.yml: write .env from deploy/env.example with every `change-me-…`
# value replaced by a fresh random secret (64 hex characters from /dev/urandom), mode 0600.
# Never overwrites: an existing .env is left alone (exit 0, nothing printed but a note), so running it twice
# is harmless and secrets are never rotated by accident. docker-compose.yml refuses to start without the
# required secrets (`${VAR:?}`), and there is no default secret anywhere.
#
#   sh deploy/init-env.sh            # writes ./.env next to docker-compose.yml
#   sh deploy/init-env.sh path/.env  # another target
set -eu
here=$(cd "$(dirname "$0")" && pwd)
example="$here/env.example"
target="${1:-$here/../.env}"
if [ -e "$target" ]; then
  echo "init-env: $target exists: left as it is (delete it first to generate new secrets)" >&2
  exit 0
fi
umask 077
tmp="$target.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: > "$tmp"
count=0
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    [A-Z]*=change-me*)
      key=${line%%=*}
      rest=${line#*=}
      comment=""
      case "$rest" in *"#"*) comment="  #${rest#*#}" ;; esac
      secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
      [ ${#secret} -eq 64 ] || { echo "init-env: cannot read /dev/urandom" >&2; exit 1; }
      printf '%s=%s%s\n' "$key" "$secret" "$comment" >> "$tmp"
      count=$((count + 1))
      ;;
    *) printf '%s\n' "$line" >> "$tmp" ;;
  esac
done < "$example"
chmod 600 "$tmp"
mv "$tmp" "$target"
trap - EXIT
echo "init-env: wrote $target with $count generated secret(s) (mode 0600); keep a copy in your secret store" >&2
