"""Other products' client protocols, translated at the edge onto Herald's services."""
