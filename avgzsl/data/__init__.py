"""Data layer: split files, the authors' feature layout, our Parquet tables, validation."""
