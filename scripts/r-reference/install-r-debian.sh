#!/usr/bin/env bash
# Installs R and the R packages that nat and nat.nblast depend on, from Debian's own
# archive (Debian 12 bookworm: R 4.2.2), with apt. Run as root.
#
#   sudo bash scripts/r-reference/install-r-debian.sh
#
# It does NOT install nat, nat.nblast, nabor, nat.utils or dendroextras: Debian does not
# package them. Install those from CRAN (install.packages(c("nat", "nat.nblast"))) or from
# their own sources into a library of your choice and point R_LIBS at it; then
# scripts/r-reference/make-reference.R writes the reference fixtures (see README.md here).
set -euo pipefail

packages=(
  r-base-core r-base-dev          # R itself, and compilers/headers for packages with C++ (nabor)
  r-cran-rcpp r-cran-rcppeigen r-cran-bh   # nabor: Rcpp, Eigen, Boost headers
  r-cran-rgl r-cran-igraph r-cran-filehash r-cran-digest r-cran-plyr r-cran-yaml
  r-cran-progress r-cran-checkmate r-cran-stringr r-cran-pbapply r-cran-zip   # nat, nat.utils
  r-cran-spam                     # nat.nblast
  r-cran-testthat r-cran-rann r-cran-ff r-cran-bigmemory   # the packages' own test suites
)

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
R --version | head -1
