"""What a worker tells its operators: Prometheus metrics, consumer lag and commit time, log format."""
