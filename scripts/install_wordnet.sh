#!/usr/bin/env bash
# Princeton WordNet 3.0 for nltk, offline, from Debian's wordnet-base and wordnet-sense-index packages (no PyPI package
# ships it and nltk.download needs the network). Usage: scripts/install_wordnet.sh NLTK_DATA_DIR
# nltk refuses symlinks, so the files are copied; it also expects a 'lexnames' file that the Debian
# package lacks (its 45 lines are the lexicographer file list from lexnames(5WN)).
set -euo pipefail
dest="${1:?usage: install_wordnet.sh NLTK_DATA_DIR}"
target="$dest/corpora/wordnet"
if [ -f "$target/data.noun" ] && [ -f "$target/index.sense" ] && [ -f "$target/lexnames" ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "install_wordnet: apt-get not found; WordNet definitions stay unavailable (lemmas only)" >&2; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q wordnet-base wordnet-sense-index >/dev/null 2>&1) || {
  echo "install_wordnet: could not download wordnet-base / wordnet-sense-index; WordNet definitions stay unavailable" >&2; exit 0; }
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/x"; done
mkdir -p "$target"
cp "$tmp"/x/usr/share/wordnet/* "$target/"
i=0
for n in adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body \
         noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location \
         noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process \
         noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change \
         verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation \
         verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl; do
  case $n in adj.*) p=3;; adv.*) p=4;; noun.*) p=1;; verb.*) p=2;; esac
  printf '%02d\t%s\t%s\n' "$i" "$n" "$p"
  i=$((i + 1))
done > "$target/lexnames"
echo "WordNet 3.0 installed for nltk under $dest"
