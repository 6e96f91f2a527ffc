"""Federation: other exchanges as peers, pulled from and pushed to over plain TAXII 2.1."""
