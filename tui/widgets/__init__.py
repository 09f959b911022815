"""The widgets of the talks app: each shows one part of the state and redraws only on change."""
