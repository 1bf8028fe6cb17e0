# The one-process DeepPerception host (silo with all roles + engine runner + health/status endpoints).
# Build from the repository root:  docker build -f deploy/docker/host.Dockerfile -t deepperception-host .
# TorchBackend=cpu by default; a CUDA image needs TorchSharp-cuda-linux on the package feed (--build-arg TORCH_BACKEND=cuda).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TORCH_BACKEND=cpu
WORKDIR /src
# restore layer: project files and build props only
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props DeepPerception.sln ./
COPY src/ src/
# the portal (a Razor class library the host mounts)
COPY web/ web/
RUN dotnet restore src/DeepPerception.Host/DeepPerception.Host.csproj -p:TorchBackend=${TORCH_BACKEND}
RUN dotnet publish src/DeepPerception.Host/DeepPerception.Host.csproj -c Release -p:TorchBackend=${TORCH_BACKEND} \
    --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# curl for the health check (the aspnet image ships neither curl nor wget)
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
ENV DeepPerception__DataDirectory=/data \
    Urls=http://0.0.0.0:8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["dotnet", "DeepPerception.Host.dll"]
