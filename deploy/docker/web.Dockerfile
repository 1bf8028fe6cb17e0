# The DeepPerception web host (src/DeepPerception.WebHost): the HTTP API (/v1) and the portal as an Orleans client of a
# running cluster; no silo and no engine in this image.
# Build from the repository root:  docker build -f deploy/docker/web.Dockerfile -t deepperception-web .
# Cluster settings come from the environment (section DeepPerception:WebHost), e.g. for silos on Azure Table membership:
#   DeepPerception__WebHost__Clustering=azure  DeepPerception__WebHost__ClusterId=<cluster id>
#   DeepPerception__WebHost__BlobConnectionString=<the silos' storage connection string>
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props DeepPerception.sln ./
COPY src/ src/
COPY web/ web/
RUN dotnet restore src/DeepPerception.WebHost/DeepPerception.WebHost.csproj
RUN dotnet publish src/DeepPerception.WebHost/DeepPerception.WebHost.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
ENV Urls=http://0.0.0.0:8080 \
    DeepPerception__WebHost__ArtifactsDirectory=/data/artifacts
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["dotnet", "DeepPerception.WebHost.dll"]
