//! CLI layer: offline commands that run the domain on local files (DESIGN §9).
