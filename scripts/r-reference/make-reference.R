# R's nat / nat.nblast on this project's fixture skeletons: the reference outputs in
# test/fixtures/r-reference/ (dotprops per point and scores per ordered pair, every
# score mode, with and without alpha).
#
#   R_LIBS=/path/to/lib Rscript scripts/r-reference/make-reference.R [REPO_ROOT [OUT_DIR]]
#
# Needs an R library (R_LIBS) holding nat and nat.nblast (and their dependencies, as
# from CRAN); this script installs nothing. REPO_ROOT defaults to two folders above
# this script, OUT_DIR to REPO_ROOT/test/fixtures/r-reference.
#
# Every step is R's own function, in the order nblast-fanout applies them to a
# skeleton (src/nblast/prepare-points.ts):
#   read.neuron(swc) -> xyz * scale -> simplify_neuron(x, n) -> dotprops(x, k, resample)
#   -> nblast(dps, dps, normalised = FALSE/TRUE, UseAlpha = FALSE/TRUE)
#   -> nblast_allbyall(dps, normalisation = "mean", UseAlpha = ...)
# min, max, geometric and harmonic mean are computed here from R's forward and reverse
# normalised scores, as src/nblast/modes.ts (combineScores) defines them.
# Numbers are printed with sprintf("%.17g"), which reads back to the same double.

options(rgl.useNULL = TRUE, warn = 1, stringsAsFactors = FALSE)
suppressPackageStartupMessages({
  library(nat)
  library(nat.nblast)
})

args <- commandArgs(trailingOnly = TRUE)
script_dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f) == 1) dirname(normalizePath(f)) else getwd()
})
repo <- if (length(args) >= 1) normalizePath(args[1]) else normalizePath(file.path(script_dir, "..", ".."))
out <- if (length(args) >= 2) args[2] else file.path(repo, "test", "fixtures", "r-reference")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

# The fixture sets: where their SWCs are, the scale that turns them into microns and
# the parameter combinations (below) run on them. fctraces20's resampled dotprops are
# large (14,437 points), so it gets a subset that still crosses k = 5/20 with
# resample 1/none and simplify 0/2; the small tie-rich sets get every combination.
skel <- file.path(repo, "test", "fixtures", "r-reference", "skeletons")
all_configs <- c("k5-r1", "k20-r1", "k5-rnone", "k20-rnone", "k5-r1-s0", "k5-r1-s2", "k5-r1-s10", "k20-rnone-s10")
sets <- list(
  fctraces20 = list(dir = file.path(repo, "samples", "fctraces20"), scale = 1,
                    configs = c("k5-r1", "k5-rnone", "k20-rnone", "k5-r1-s0", "k5-r1-s2")),
  lattice = list(dir = file.path(skel, "lattice"), scale = 1, configs = all_configs),
  voxel8nm = list(dir = file.path(skel, "voxel8nm"), scale = 0.008, configs = all_configs)
)

# Parameter combinations: k (neighbours, the point itself counted), resample step in
# microns (NA: none) and simplify_neuron's n (NA: not simplified).
configs <- Filter(function(cfg) cfg$name %in% all_configs, list(
  list(name = "k5-r1", k = 5, resample = 1, simplify = NA),
  list(name = "k20-r1", k = 20, resample = 1, simplify = NA),
  list(name = "k5-rnone", k = 5, resample = NA, simplify = NA),
  list(name = "k20-rnone", k = 20, resample = NA, simplify = NA),
  list(name = "k5-r1-s0", k = 5, resample = 1, simplify = 0),
  list(name = "k5-r1-s2", k = 5, resample = 1, simplify = 2),
  list(name = "k5-r1-s10", k = 5, resample = 1, simplify = 10),
  list(name = "k20-rnone-s10", k = 20, resample = NA, simplify = 10)
))
names(configs) <- vapply(configs, function(cfg) cfg$name, "")

fmt <- function(x) sprintf("%.17g", x)

# Skeleton -> dotprops exactly as nblast-fanout's pipeline, each step R's own.
neuron_dotprops <- function(file, scale, cfg, note) {
  n <- read.neuron(file)
  if (scale != 1) xyzmatrix(n) <- xyzmatrix(n) * scale
  if (!is.na(cfg$simplify)) {
    n <- withCallingHandlers(simplify_neuron(n, n = cfg$simplify), warning = function(w) {
      note(paste("simplify_neuron warning:", conditionMessage(w)))
      invokeRestart("muffleWarning")
    })
  }
  dotprops(n, k = cfg$k, resample = cfg$resample)
}

write_csv_lines <- function(path, header, lines) {
  con <- if (grepl("\\.gz$", path)) gzfile(path, "w", compression = 9) else file(path, "w")
  on.exit(close(con))
  writeLines(c(header, lines), con)
}

notes <- list()
summary_rows <- list()

for (set_name in names(sets)) {
  set <- sets[[set_name]]
  files <- sort(list.files(set$dir, pattern = "\\.swc$", full.names = TRUE))
  names(files) <- sub("\\.swc$", "", basename(files))
  for (cfg in configs[set$configs]) {
    tag <- paste0(set_name, "/", cfg$name)
    dps <- list()
    for (nm in names(files)) {
      note <- function(msg) notes[[length(notes) + 1]] <<- c(set = set_name, config = cfg$name, neuron = nm, message = msg)
      dp <- tryCatch(neuron_dotprops(files[[nm]], set$scale, cfg, note), error = function(e) {
        note(paste("error, neuron left out of this set:", conditionMessage(e)))
        NULL
      })
      if (!is.null(dp)) dps[[nm]] <- dp
    }
    nl <- as.neuronlist(dps)
    nms <- names(nl)
    dir.create(file.path(out, set_name), showWarnings = FALSE)

    # Dotprops, long form: one row per point, in R's point order.
    lines <- unlist(lapply(nms, function(nm) {
      d <- nl[[nm]]
      p <- d$points
      v <- d$vect
      paste(nm, seq_len(nrow(p)), fmt(p[, 1]), fmt(p[, 2]), fmt(p[, 3]),
            fmt(v[, 1]), fmt(v[, 2]), fmt(v[, 3]), fmt(d$alpha), sep = ",")
    }))
    write_csv_lines(file.path(out, set_name, paste0(cfg$name, ".dotprops.csv.gz")),
                    "neuron,point,x,y,z,vx,vy,vz,alpha", lines)

    # Scores. nblast(query, target) gives a matrix with ROWS = TARGETS, COLUMNS = QUERIES.
    cols <- list()
    for (alpha in c(FALSE, TRUE)) {
      raw <- nblast(nl, nl, normalised = FALSE, UseAlpha = alpha)
      norm <- nblast(nl, nl, normalised = TRUE, UseAlpha = alpha)
      mean_r <- nblast_allbyall(nl, normalisation = "mean", UseAlpha = alpha)
      raw_aba <- nblast_allbyall(nl, normalisation = "raw", UseAlpha = alpha)
      if (!identical(unname(raw), unname(raw_aba))) stop(tag, ": nblast_allbyall raw differs from nblast")
      for (m in list(raw, norm, mean_r)) {
        if (!identical(rownames(m), nms) || !identical(colnames(m), nms)) stop(tag, ": score matrix names out of order")
      }
      # Pair (query q, target t): forward f = norm[t, q], reverse r = norm[q, t].
      q <- rep(seq_along(nms), each = length(nms))
      t <- rep(seq_along(nms), times = length(nms))
      f <- norm[cbind(t, q)]
      r <- norm[cbind(q, t)]
      # Geometric and harmonic means are 0 unless both scores are positive (modes.ts).
      both_pos <- !is.na(f) & !is.na(r) & f > 0 & r > 0
      gm <- hm <- numeric(length(f))
      gm[both_pos] <- sqrt(f[both_pos] * r[both_pos])
      hm[both_pos] <- 2 / (1 / f[both_pos] + 1 / r[both_pos])
      suffix <- if (alpha) "_alpha" else ""
      cols[[paste0("raw", suffix)]] <- raw[cbind(t, q)]
      cols[[paste0("normalized", suffix)]] <- f
      cols[[paste0("mean", suffix)]] <- mean_r[cbind(t, q)]
      cols[[paste0("min", suffix)]] <- pmin(f, r)
      cols[[paste0("max", suffix)]] <- pmax(f, r)
      cols[[paste0("geometric-mean", suffix)]] <- gm
      cols[[paste0("harmonic-mean", suffix)]] <- hm
      # nat.nblast's mean is (f + r) / 2 of these normalised scores; say so if ever not.
      if (!identical(unname(mean_r[cbind(t, q)]), (f + r) / 2)) stop(tag, ": sub_score_mat mean is not (f + r) / 2")
    }
    body <- do.call(paste, c(list(nms[q], nms[t]), lapply(cols, fmt), sep = ","))
    write_csv_lines(file.path(out, set_name, paste0(cfg$name, ".scores.csv.gz")),
                    paste(c("query", "target", names(cols)), collapse = ","), body)

    npts <- vapply(nl, function(d) nrow(d$points), 1)
    summary_rows[[length(summary_rows) + 1]] <- c(
      set = set_name, config = cfg$name, k = cfg$k,
      resample = ifelse(is.na(cfg$resample), "", cfg$resample),
      simplify = ifelse(is.na(cfg$simplify), "", cfg$simplify),
      scale = set$scale, neurons = length(nms), points = sum(npts)
    )
    message(tag, ": ", length(nms), " neurons, ", sum(npts), " points")
  }
}

# What was made, and everything R said on the way.
write_csv_lines(file.path(out, "configs.csv"), "set,config,k,resample,simplify,scale,neurons,points",
                vapply(summary_rows, paste, "", collapse = ","))
notes_lines <- vapply(notes, function(x) paste(x[["set"]], x[["config"]], x[["neuron"]],
                                              paste0('"', gsub('"', "'", gsub("\n", " ", x[["message"]])), '"'), sep = ","), "")
write_csv_lines(file.path(out, "notes.csv"), "set,config,neuron,message", notes_lines)

pkgs <- c("nat.nblast", "nat", "nabor", "nat.utils", "dendroextras", "igraph", "Rcpp", "RcppEigen", "BH", "rgl", "spam", "plyr")
si <- sessionInfo()
prov <- c(
  paste("date:", format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")),
  paste("R:", R.version.string, R.version$platform),
  paste("running under:", si$running),
  paste("BLAS:", si$BLAS),
  paste("LAPACK:", si$LAPACK, "version", La_version()),
  paste("nat.nblast default smat option:", if (is.null(getOption("nat.nblast.defaultsmat"))) "unset (smat.fcwb; smat_alpha.fcwb with UseAlpha)" else "SET"),
  vapply(pkgs, function(p) paste0("package ", p, ": ", as.character(packageVersion(p))), "")
)
write_csv_lines(file.path(out, "provenance.txt"), character(0), prov)
