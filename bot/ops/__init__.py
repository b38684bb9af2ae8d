"""Running the services: the process runner of `kapbot serve`, production mode with its nginx
balancer, and the Rasa server's entry point that keeps the API token off the command line."""
