"""What pipeline/ and speakers/ both need, below both of them: it imports neither (nor tui/)."""
