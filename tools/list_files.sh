#!/bin/sh
# list_files.sh DIR PATTERN [PATTERN2] [--exclude-tests] — sorted file list for meson.
# Used by meson.build at configure time so new files need no edit of the build.
dir=$1; shift
pat=$1; shift
exclude=
if [ "${1:-}" = "--exclude-tests" ]; then exclude=1; fi
[ -d "$dir" ] || exit 0
find "$dir" -type f -name "$pat" | LC_ALL=C sort | while read -r f; do
  if [ -n "$exclude" ] && case "$f" in */test_*) true;; *) false;; esac; then continue; fi
  echo "$f"
done
