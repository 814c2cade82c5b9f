"""`feedback up`, `down`, `status` and `config show`."""
