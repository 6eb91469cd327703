"""The pure decision engine: lifecycle, campaign series, delivery and attribution. No I/O, no clock reads, no Faust."""
